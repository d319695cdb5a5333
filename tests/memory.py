"""Peak Python memory of a call, for the tests that prove a pass over a long history takes constant memory."""

import tracemalloc


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
