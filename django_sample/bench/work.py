"""CPU work shared by /cpu, /async/cpu and the cpu task: pure Python that holds the GIL for its
whole run.

It is bytecode only: integer arithmetic on small ints and a `range` loop. No hashlib, zlib,
numpy or other C code that releases the GIL while it works, so on a GIL build two threads
running it take turns, and only a free-threaded build (or separate processes or
subinterpreters) runs two of them at once. A C-accelerated kernel would let a GIL build look
parallel through the C code and hide the very difference djbench measures. Keep it this way;
test_async.PureCpuTests checks that spin calls nothing but the builtins it names."""


def spin(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1_000_003
    return x
