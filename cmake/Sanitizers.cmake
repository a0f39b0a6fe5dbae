# Sanitizer builds. The flags go on every target, compile and link alike (the libraries, the
# binaries and the test executables): a flag on a library's compile but not on an executable's
# link leaves __asan_* undefined.
if(TOLLGATE_SANITIZE AND TOLLGATE_TSAN)
  message(FATAL_ERROR "TOLLGATE_SANITIZE (ASan) and TOLLGATE_TSAN cannot be combined")
endif()
if(TOLLGATE_SANITIZE)
  # Every UBSan finding is fatal (no recovery), so a report fails the test that caused it.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
if(TOLLGATE_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(TOLLGATE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TOLLGATE_FUZZ needs clang (CC=clang-16 CXX=clang++-16)")
  endif()
  # tg_core is instrumented for coverage; only the fuzz executables link libFuzzer's main().
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
