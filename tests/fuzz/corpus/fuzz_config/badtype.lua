return { listen = 1, [1] = "x" }
