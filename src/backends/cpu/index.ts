/**
 * The `cpu` backend: tfjs's pure-JS kernels, registered when engine/tf.ts imports
 * @tensorflow/tfjs-backend-cpu, plus the project's own (register.ts). Importing this module
 * registers those and the project's op gradients (ops/gradients.ts) once per process, as importing
 * tfjs-backend-cpu registers its kernels. Every other backend's loader imports it first (the native
 * backend copies the cpu kernels, the wasm backend falls back to them), and so does the backend
 * choice (engine/backend.ts).
 */
import {registerOpGradients} from '../../ops/gradients.js'
import {registerCpuKernels} from './register.js'

registerCpuKernels()
registerOpGradients()
