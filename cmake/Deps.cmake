# Every dependency comes from Debian bookworm packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG)   # libboost1.81-dev: Asio + Beast, header-only
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(prometheus-cpp REQUIRED)      # link prometheus-cpp::core only; /metrics is served by us
find_package(SQLite3 REQUIRED)
# libpq-dev: the store.postgres backend. Its header only: libpq.so.5 is loaded at run time, when a
# PostgreSQL connection is first made (src/store/libpq_api.cpp), so that an instance on SQLite
# does not load libpq and the twenty libraries it needs.
find_path(LIBPQ_INCLUDE_DIR libpq-fe.h PATH_SUFFIXES postgresql REQUIRED)
# libhiredis-dev (0.14): the reply parser of the Redis client (src/redis; store.redis).
find_path(HIREDIS_INCLUDE_DIR hiredis/read.h REQUIRED)
find_library(HIREDIS_LIBRARY hiredis REQUIRED)
add_library(hiredis::hiredis UNKNOWN IMPORTED)
set_target_properties(hiredis::hiredis PROPERTIES IMPORTED_LOCATION "${HIREDIS_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${HIREDIS_INCLUDE_DIR}")
