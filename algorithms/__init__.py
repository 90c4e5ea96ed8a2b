"""Processing algorithms: thin wrappers that read parameters, call one ``core`` function and declare outputs."""
