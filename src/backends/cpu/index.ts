/** The project's own kernels for the `cpu` backend (other backends register theirs beside their loader). */
import './dropout.js'
import './adam.js'
import {installTileGradient} from './tile-grad.js'
import {installReluGradient} from './relu-grad.js'

// Tile's gradient as one reduction instead of one Slice + Add per repetition (every backend).
installTileGradient()
// Relu's gradient through a backend's one-dispatch kernel where it has one (every backend).
installReluGradient()
