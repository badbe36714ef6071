/** Flags shared by the commands that read a spec. */
import {Flags} from '@oclif/core'
import {expandHome} from './fs/home-path.js'

export const setFlag = Flags.string({
  char: 's',
  summary: 'Override a spec value: key.path=value (YAML-typed; repeatable), e.g. --set train.optimizer.lr=3e-4.',
  multiple: true,
  // One value per --set, so that the spec may follow it (`mixture run --set seed=3 spec.yaml`).
  multipleNonGreedy: true,
  default: [],
  // An empty list is no default worth printing: help would show "[default: ]".
  defaultHelp: async () => undefined,
})

export const backendFlag = Flags.string({
  summary: 'TensorFlow.js backend: auto, tensorflow, webgpu, native, wasm or cpu (default: MIXTURE_BACKEND, else auto).',
  options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'],
})

export const ckptFlag = Flags.string({
  summary: 'Which checkpoint of the run: best (weights at the best validation accuracy, or without a validation split the best test accuracy) or last (after the last checkpointed epoch). Default: best, or last with --weights trained.',
  options: ['best', 'last'],
})

/** With train.ema: the weights' moving average (as the run evaluated it) or the weights the optimizer trained. */
export const weightsFlag = Flags.string({
  summary: "A run with train.ema: average (the weights' moving average, as the run evaluated it; default) or trained (the weights the optimizer trained, which last.ckpt keeps beside the average).",
  options: ['average', 'trained'],
})

/** The backend of a command that uses a trained run: the one the run recorded unless named. */
export const runBackendFlag = Flags.string({
  summary: 'TensorFlow.js backend (default: the one the run recorded in numerics.json, so that numbers equal training\'s; another may differ in the last digits).',
  options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'],
})

/** A file or folder flag (--out, --data-dir): `~/` at its start is the home folder, as a shell leaves it in `--out=~/results`. */
export function pathFlag(summary: string) {
  return Flags.string({summary, parse: async (input) => expandHome(input)})
}
