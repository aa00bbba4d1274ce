# Cross-compiling for 64-bit Arm Linux with Debian's cross toolchain
# (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross):
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# tests/vm builds the guests' static tools this way.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(IVSHMEM_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${IVSHMEM_CROSS_TRIPLE}-gcc)
set(CMAKE_AR ${IVSHMEM_CROSS_TRIPLE}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${IVSHMEM_CROSS_TRIPLE}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${IVSHMEM_CROSS_TRIPLE}-strip CACHE FILEPATH "")

# Libraries and headers from the cross sysroot only; programs from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${IVSHMEM_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must not hand out the host's .pc files.
set(ENV{PKG_CONFIG_LIBDIR}
    /usr/lib/${IVSHMEM_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Run cross-built programs (none in a tools-only build) with qemu-user
# when it is installed.
find_program(IVSHMEM_QEMU_AARCH64 qemu-aarch64-static qemu-aarch64)
if(IVSHMEM_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${IVSHMEM_QEMU_AARCH64})
endif()
