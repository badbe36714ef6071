import {BaseCommand} from '../base-command.js'
import {editorSchema} from '../config/editor-schema.js'

export default class Schema extends BaseCommand<typeof Schema> {
  static summary = 'Print the JSON Schema of experiment specs (for editors, e.g. yaml-language-server).'
  static description =
    'The schema covers the spec and, per model/component type, its parameters. The same document is committed as schema/spec.schema.json. With or without --json the output is this one JSON document.'

  static examples = [
    {description: 'Save it for an editor (a spec then starts with "# yaml-language-server: $schema=./spec.schema.json"):', command: '<%= config.bin %> <%= command.id %> > spec.schema.json'},
    {description: 'Refresh the committed copy:', command: '<%= config.bin %> <%= command.id %> > schema/spec.schema.json'},
  ]

  async run(): Promise<Record<string, unknown>> {
    const schema = editorSchema() as Record<string, unknown>
    if (!this.jsonEnabled()) this.log(JSON.stringify(schema, null, 2))
    return schema
  }
}
