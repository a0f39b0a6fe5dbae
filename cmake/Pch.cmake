# Precompiled headers for the big third-party headers almost every file includes (nlohmann/json,
# fmt, spdlog; Asio and Beast in the I/O shell; GoogleTest in the tests): parsed once per target
# instead of once per file. Nothing changes at run time; it is for CI's 45 minutes (three
# builds: normal, ASan, TSan) on 2 cores. -DTOLLGATE_PCH=OFF builds without.
option(TOLLGATE_PCH "Precompile the heavy third-party headers" ON)

set(TG_PCH_CORE <nlohmann/json.hpp> <fmt/format.h> <spdlog/spdlog.h> <string> <string_view>
                <vector> <map> <unordered_map> <optional> <variant> <memory> <functional> <chrono>)
set(TG_PCH_NET ${TG_PCH_CORE} <boost/asio/awaitable.hpp> <boost/asio/co_spawn.hpp>
               <boost/asio/io_context.hpp> <boost/asio/ip/tcp.hpp> <boost/asio/steady_timer.hpp>
               <boost/asio/use_awaitable.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp>)

function(tg_pch target)  # tg_pch(TARGET HEADER...)
  if(TOLLGATE_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
