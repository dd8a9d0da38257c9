"""CPU work shared by the /cpu view and the cpu task: pure Python that holds the GIL for its
whole run (no C-accelerated hashing or numeric library that would release it)."""


def spin(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1_000_003
    return x
