# embed.cmake: turns the code generator's text templates into C arrays
# (cmake -DOUT=file.c -DNAMES=a,b -DFILES=x,y -P embed.cmake), so the onnxc
# binary carries the harness and the portable kernel library it writes.
string(REPLACE "," ";" NAMES "${NAMES}")
string(REPLACE "," ";" FILES "${FILES}")
set(body "/* Generated from compiler/templates by embed.cmake; do not edit. */\n")
list(LENGTH NAMES n)
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  list(GET NAMES ${i} name)
  list(GET FILES ${i} file)
  file(READ ${file} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "const char ${name}[] = {${hex}0x00};\n")
endforeach()
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})
