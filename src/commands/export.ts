import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {EXPORT_FORMATS, exportRun, type ExportFormat, type ExportResult} from '../export/export-run.js'
import {ckptFlag, pathFlag, weightsFlag} from '../flags.js'
import type {CheckpointChoice, WeightChoice} from '../run/load-run.js'

export default class Export extends BaseCommand<typeof Export> {
  static summary = "Export a run's checkpoint for other tools: a TensorFlow.js graph model, or safetensors weights with PyTorch names."
  static description = [
    'tfjs: model.json + group1-shard*.bin, a graph of stock TensorFlow ops (the project\'s own layers re-expressed as them) that plain @tensorflow/tfjs loads with tf.loadGraphModel in Node or a browser, input "image" (N, H, W, 3) floats, output "logits". A layer with no stock-op form stops the export (exit 2), naming its class.',
    "safetensors: model.safetensors, the weights (and BatchNorm statistics) under PyTorch state_dict names for the paper's architectures, so that load_state_dict on the original classes (bench/torch/models.py, torchvision's ResNet-18) works; the file's metadata names the class and its arguments. Other models keep the project's own names, which the output says.",
    'Writes <run>/export/<format>-<ckpt>/ (<format>-last-trained/ for the trained weights of a run with train.ema; or --out) with export.json (source, checkpoint, how to make inputs, output names). Nothing else in the run folder is changed. docs/export.md has the details.',
  ].join('\n\n')

  static examples = [
    {description: 'A TensorFlow.js graph model of the best checkpoint:', command: '<%= config.bin %> <%= command.id %> results/quickstart/20261126-101500-1a2b3c4d --format tfjs'},
    {description: 'PyTorch weights of the last checkpoint, into a folder of your choice:', command: '<%= config.bin %> <%= command.id %> results/cifar10-alternating-1block/20261126-101500-1a2b3c4d --format safetensors --ckpt last --out alt1-weights'},
  ]

  static args = {run: Args.string({required: true, description: 'Run folder (results/<name>/<stamp>-<hash>/)'})}
  static flags = {
    format: Flags.string({summary: 'What to write.', options: [...EXPORT_FORMATS], required: true}),
    ckpt: ckptFlag,
    weights: weightsFlag,
    out: pathFlag('Folder to write (default: <run>/export/<format>-<ckpt>/); an existing one must be empty or an earlier export holding nothing else.'),
  }

  async run(): Promise<ExportResult> {
    const {args, flags} = await this.parse(Export)
    const result = await exportRun({run: args.run, format: flags.format as ExportFormat, ckpt: flags.ckpt as CheckpointChoice | undefined, weights: flags.weights as WeightChoice | undefined, out: flags.out, log: (m) => this.note(m)})
    if (!this.jsonEnabled()) {
      const names = result.names ? ` (${result.names === 'pytorch' ? `PyTorch names of ${result.torch!.builder}` : "the project's own names"})` : ''
      const weights = result.weights === 'average' ? ", the weights' moving average" : ''
      this.log(`${result.format}${names}: ${result.checkpoint}.ckpt (epoch ${result.epoch}${weights}) written to ${result.out_dir}`)
    }
    return result
  }
}
