//! This package holds only tests (see `tests/tests/`); its library is empty on purpose.
