return { graph = { dialct = "beta" }, routes = { { match = "a", flw = "b" } }, limits = { op_timeout_s = "30" } }
