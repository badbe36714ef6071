import {BaseCommand} from '../base-command.js'
import {editorSchema} from '../config/schema.js'
import '../registry/builtins.js'

export default class Schema extends BaseCommand<typeof Schema> {
  static summary = 'Print the JSON Schema of experiment specs (for editors, e.g. yaml-language-server).'
  static description = 'The schema covers the spec and, per model/component type, its parameters. The same document is committed as schema/spec.schema.json.'
  static enableJsonFlag = false

  async run(): Promise<void> {
    this.log(JSON.stringify(editorSchema(), null, 2))
  }
}
