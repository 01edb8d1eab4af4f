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
endif()

# Fuzz builds (clang): instrument everything for coverage; the fuzz targets add -fsanitize=fuzzer at link.
if(SIGMA_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
