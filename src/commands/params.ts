import {Args} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {resolveSpec} from '../config/resolve.js'
import {setFlag} from '../flags.js'
import {buildModelIn} from '../config/check-model.js'
import type {ComponentCount} from '../model/build.js'
import {paramTable} from '../model/param-table.js'

export interface ParamsResult {
  name: string
  label?: string
  model: string
  params: number
  components: ComponentCount[]
  num_classes: number
  input_shape: number[]
}

export default class Params extends BaseCommand<typeof Params> {
  static summary = 'Build the model of a spec and print its trainable parameters per component.'
  static description = 'Trainable parameters only (BatchNorm moving statistics are not parameters). With --json, stdout is one JSON document {name, model, params, components, ...}.'
  static examples = ['<%= config.bin %> params configs/paper/cifar10/alternating-1block.yaml', '<%= config.bin %> params configs/paper/stl10-perceiver/joint-2block.yaml --json']
  static args = {spec: Args.string({required: true, description: 'YAML experiment spec'})}
  static flags = {set: setFlag}

  async run(): Promise<ParamsResult> {
    const {args, flags} = await this.parse(Params)
    const resolved = await resolveSpec(args.spec, flags.set)
    const {spec} = resolved
    const built = buildModelIn(resolved)
    built.model.dispose()
    const result = {name: spec.name, label: spec.label, model: spec.model.type, params: built.params, components: built.components, num_classes: built.numClasses, input_shape: built.inputShape}
    if (!this.jsonEnabled()) {
      this.log(`${spec.name}${spec.label ? ` — ${spec.label}` : ''} (${spec.model.type}, ${built.numClasses} classes, input ${built.inputShape.join('×')})`)
      this.log(paramTable(built.components, built.params))
    }
    return result
  }
}
