/** The project's own kernels for the `cpu` backend (other backends register theirs beside their loader). */
import './dropout.js'
import './adam.js'
