import {Args} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {resolveSpec} from '../config/resolve.js'
import {formatProblem, SpecError, type Problem} from '../config/errors.js'
import {idleSettings} from '../config/idle-settings.js'
import {displayPath} from '../fs/display-path.js'
import {setFlag} from '../flags.js'
import {checkModel} from '../run/fine-tune.js'
import type {ResolvedSpec} from '../schema/spec.js'

export default class Validate extends BaseCommand<typeof Validate> {
  static summary = 'Check a spec against the schema and the registry; report every problem with file:line:col.'
  static description = 'Loads the spec with its `extends:` chain and --set overrides, loads its plugins, and validates it in two stages (spec schema, then each component\'s parameters), then builds the model once to check that its parameters fit together (a transformer width that makes the block\'s image, a patch that tiles it) and that the checkpoint train.init_from names fits it. Exit code 2 when invalid. Settings that are valid but change nothing (a mixup that mixes no batch, a transform with p 0, early stopping whose patience outlasts the run) are warned of on stderr, exit 0.'
  static examples = [
    '<%= config.bin %> validate configs/paper/cifar10/alternating-1block.yaml',
    '<%= config.bin %> validate configs/quickstart.yaml --set train.optimizer.lr=3e-4 --json',
  ]
  static args = {spec: Args.string({required: true, description: 'YAML experiment spec'})}
  static flags = {set: setFlag}

  async run(): Promise<{valid: true; file: string; spec: ResolvedSpec; warnings: Problem[]}> {
    const {args, flags} = await this.parse(Validate)
    const {spec, loaded} = await resolveSpec(args.spec, flags.set)
    // Valid, but changing nothing in the run (a sweep may take such a value on purpose): said, exit 0.
    const warnings = idleSettings(spec, loaded)
    for (const w of warnings) this.note(`warning: ${formatProblem(w)}`)
    const params = withWarnings(warnings, () => checkModel({spec, loaded}))
    const size = `${params.toLocaleString('en-US')} trainable parameters`
    if (!this.jsonEnabled()) this.log(`valid: ${displayPath(loaded.file)} (${spec.name}: model ${spec.model.type}, ${size}; dataset ${spec.data.dataset} ${spec.data.image_size}×${spec.data.image_size})`)
    return {valid: true, file: loaded.file, spec, warnings}
  }
}

/** `check()`, whose spec problems carry `warnings` too (--json lists them beside the error). */
function withWarnings<T>(warnings: Problem[], check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof SpecError && warnings.length > 0) throw new SpecError(error.problems, error.file, warnings)
    throw error
  }
}
