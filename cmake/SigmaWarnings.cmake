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
