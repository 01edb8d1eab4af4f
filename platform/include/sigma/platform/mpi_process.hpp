// Include once, in the file that defines main(), of every sigma program that uses MPI (which starts MPI with
// start_mpi(), sigma/platform/mpi_start.hpp, never with MPI_Init alone).
//
// Open MPI allocates per-process state in its dlopen()ed components and never frees it; it also unloads the
// components at MPI_Finalize, after which LeakSanitizer cannot even name the library. Keeping the components
// loaded and suppressing leaks from the MPI runtime keeps sanitizer builds quiet about memory sigma does not
// own, while leaks in sigma's own code are still reported. start_mpi() keeps them loaded; this header names the
// runtime's leaks for LeakSanitizer.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
// The MPI runtime and its components have no frame pointers: only the slow unwinder gets a stack deep enough
// to match the suppressions below.
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }

// use_tls=0: on some machines the components Open MPI loads leave a dynamic-TLS entry that LeakSanitizer's
// tracer cannot read, and it crashes at exit ("Tracer caught signal 11"), turning every exit code into 1. Heap
// memory reachable only from thread-local storage is then reported as leaked instead of crashing.
extern "C" const char* __lsan_default_options() { return "print_suppressions=0:use_tls=0"; }

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libmpi.so\nleak:libopen-pal.so\nleak:libopen-rte.so\nleak:libpmix.so\nleak:libhwloc.so\n"
         "leak:libevent\nleak:mca_\nleak:libopenblas\n";
}
#endif
