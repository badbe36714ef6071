/** Flags shared by the commands that read a spec. */
import {Flags} from '@oclif/core'

export const setFlag = Flags.string({
  char: 's',
  summary: 'Override a spec value: key.path=value (YAML-typed; repeatable), e.g. --set train.optimizer.lr=3e-4.',
  multiple: true,
  default: [],
  // An empty list is no default worth printing: help would show "[default: ]".
  defaultHelp: async () => undefined,
})

export const backendFlag = Flags.string({
  summary: 'TensorFlow.js backend: auto, tensorflow, webgpu, native, wasm or cpu (default: MIXTURE_BACKEND, else auto).',
  options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'],
})
