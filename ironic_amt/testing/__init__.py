
"""What the tests and the tools share: harnesses, fakes and checks.

Nothing here is a test: the demo, the benchmarks and the soak import it
too.  Nothing here imports ``ironic_amt.tests``.
"""
