"""PRNGs and draws: what a candidate is made of, with no knowledge of scans.

``bitgen/`` holds the bit generators, one module per family, registered by name in
``generators``; ``draws`` turns their words into draws (one ``DrawKind`` per draw function);
``null_model`` says how many survivors chance alone yields; ``synth`` plants known histories.
"""
