# svr_bpf_object(NAME SOURCE): compile SOURCE with clang for the BPF target (with BTF, so
# bpftool shows named fields), generate a libbpf skeleton, and export target NAME_skel
# that brings the skeleton header, the contract headers and libbpf.

find_program(SVR_BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(SVR_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE SVR_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64")
  set(SVR_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64")
  set(SVR_BPF_ARCH arm64)
endif()

set(SVR_BPF_INCLUDE_DIR ${CMAKE_SOURCE_DIR}/bpf/include)
set(SVR_BPF_OUTPUT_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${SVR_BPF_OUTPUT_DIR})

function(svr_bpf_object name source)
  set(obj ${SVR_BPF_OUTPUT_DIR}/${name}.bpf.o)
  set(skel ${SVR_BPF_OUTPUT_DIR}/${name}.skel.h)
  get_filename_component(src_abs ${source} ABSOLUTE)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${SVR_BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${SVR_BPF_ARCH}
            -Wall -Wextra -Werror -Wno-unused-parameter
            -I${SVR_BPF_INCLUDE_DIR} -I${CMAKE_SOURCE_DIR}/bpf/lib
            -I/usr/include/${SVR_MULTIARCH}
            -MD -MF ${obj}.d -c ${src_abs} -o ${obj}
    DEPFILE ${obj}.d
    DEPENDS ${src_abs}
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${SVR_BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${name}"
    VERBATIM)
  add_custom_target(${name}_skel_gen ALL DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${SVR_BPF_OUTPUT_DIR} ${SVR_BPF_INCLUDE_DIR})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
  set_property(TARGET ${name}_skel PROPERTY SVR_BPF_OBJECT ${obj})
endfunction()
