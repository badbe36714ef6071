import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {resolveSpec} from '../config/resolve.js'
import {setFlag} from '../flags.js'
import {buildModelIn} from '../config/check-model.js'
import type {ComponentCount} from '../model/build.js'
import {paramTable, weightList} from '../model/param-table.js'

export interface ParamsResult {
  name: string
  label?: string
  model: string
  params: number
  components: ComponentCount[]
  num_classes: number
  input_shape: number[]
  /** --weights: every weight of the model in its order (trainable: false for BatchNorm statistics). */
  weights?: {name: string; shape: number[]; trainable: boolean}[]
}

export default class Params extends BaseCommand<typeof Params> {
  static summary = 'Build the model of a spec and print its trainable parameters per component.'
  static description = 'Trainable parameters only (BatchNorm moving statistics are not parameters). With --json, stdout is one JSON document {name, model, params, components, ...}.'
  static examples = ['<%= config.bin %> params configs/paper/cifar10/alternating-1block.yaml', '<%= config.bin %> params configs/paper/stl10-perceiver/joint-2block.yaml --json', '<%= config.bin %> params configs/quickstart.yaml --weights']
  static args = {spec: Args.string({required: true, description: 'YAML experiment spec'})}
  static flags = {
    set: setFlag,
    weights: Flags.boolean({description: 'also list every weight by name and shape (trainable, or a BatchNorm statistic): the names checkpoints, exports and train.init_from.skip use'}),
  }

  async run(): Promise<ParamsResult> {
    const {args, flags} = await this.parse(Params)
    const resolved = await resolveSpec(args.spec, flags.set)
    const {spec} = resolved
    const built = buildModelIn(resolved)
    const trainable = new Set(built.model.trainableWeights.map((w) => w.originalName))
    const weights = built.model.weights.map((w) => ({name: w.originalName, shape: w.shape as number[], trainable: trainable.has(w.originalName)}))
    built.model.dispose()
    const result: ParamsResult = {name: spec.name, label: spec.label, model: spec.model.type, params: built.params, components: built.components, num_classes: built.numClasses, input_shape: built.inputShape}
    if (flags.weights) result.weights = weights
    if (!this.jsonEnabled()) {
      this.log(`${spec.name}${spec.label ? ` — ${spec.label}` : ''} (${spec.model.type}, ${built.numClasses} classes, input ${built.inputShape.join('×')})`)
      this.log(paramTable(built.components, built.params))
      if (flags.weights) this.log(weightList(weights))
    }
    return result
  }
}
