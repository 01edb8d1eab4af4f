# Warnings and sanitizers for every sigma target (applied through sigma_target_defaults).
function(sigma_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(SIGMA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(SIGMA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC's -Wmaybe-uninitialized gives false positives inside libstdc++ (std::regex, std::function) when
  # sanitizers are on; the release build keeps the warning.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()

# Fuzz builds (clang): instrument everything for coverage; the fuzz targets add -fsanitize=fuzzer at link.
if(SIGMA_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
