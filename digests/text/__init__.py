"""Pure text functions: no I/O, no globals read at call time."""
