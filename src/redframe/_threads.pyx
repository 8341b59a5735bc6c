"""Threads of the compiled kernels (OpenMP): how many each kernel may use in this thread.

OpenMP's count is per calling thread (as numba's was): the local pool's and Dask's workers
set one thread per file (:func:`redframe.jobs.pool.one_thread_per_file`)."""

cimport openmp


def set_num_threads(int n):
    """Threads for the kernels called from this thread from now on (>= 1)."""
    openmp.omp_set_num_threads(max(1, n))


def get_num_threads():
    """Threads the kernels called from this thread will use."""
    return openmp.omp_get_max_threads()
