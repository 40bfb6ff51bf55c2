"""Reference programs (Java, C++, C, PHP) and the harness that builds and runs them in tests."""
