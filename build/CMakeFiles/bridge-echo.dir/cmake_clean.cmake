file(REMOVE_RECURSE
  "CMakeFiles/bridge-echo.dir/pybridge/native/bridge-echo.cc.o"
  "CMakeFiles/bridge-echo.dir/pybridge/native/bridge-echo.cc.o.d"
  "bridge-echo"
  "bridge-echo.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/bridge-echo.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
