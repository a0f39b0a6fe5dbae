#pragma once

namespace tg::app {

// `tollgate keys ...` (argv starts after "keys"); returns the exit code.
int keys_cli(int argc, char** argv);

}  // namespace tg::app
