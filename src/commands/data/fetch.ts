import {Args, Flags} from '@oclif/core'
import {pathFlag} from '../../flags.js'
import {BaseCommand} from '../../base-command.js'
import {DATASETS, fetchDataset} from '../../data/index.js'

export default class DataFetch extends BaseCommand<typeof DataFetch> {
  static summary = 'Download a dataset from its official address, check its checksum and unpack it.'
  static description = 'Files go to --data-dir (else MIXTURE_DATA, else the per-user cache ~/.cache/mixture-models/datasets), in a folder named after the dataset. When offline, the error says which files to put where by hand.'
  static examples = [
    '<%= config.bin %> <%= command.id %> cifar10',
    '<%= config.bin %> <%= command.id %> stl10 --data-dir ~/datasets',
    '<%= config.bin %> <%= command.id %> fashion_mnist --no-progress',
  ]

  static args = {name: Args.string({required: true, description: 'dataset name', options: Object.keys(DATASETS).filter((n) => n !== 'synthetic')})}
  static flags = {
    'data-dir': pathFlag('Folder to store the dataset in.'),
    progress: Flags.boolean({summary: 'Download progress on stderr (default: on when stderr is a terminal).', allowNo: true}),
  }

  async run(): Promise<{dataset: string; path: string}> {
    const {args, flags} = await this.parse(DataFetch)
    const progress = !this.jsonEnabled() && (flags.progress ?? (process.stderr.isTTY && !process.env.CI))
    const path = await fetchDataset(args.name, {dataDir: flags['data-dir'], log: (m) => this.note(m), progress})
    if (!this.jsonEnabled()) this.log(path)
    return {dataset: args.name, path}
  }
}
