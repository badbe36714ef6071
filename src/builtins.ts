/**
 * Registers everything that ships with the project: block combinators, the mixture model, the
 * architecture plugins, datasets, transforms, optimizers, learning-rate schedules and losses. The registry
 * knows none of them; the CLI imports this module once at start-up (base-command.ts), and so does
 * any program that drives the modules directly and wants the built-ins (the tests do, through
 * test/helpers.ts). Each line is one file of entries; adding a file is one line here.
 */
import './blocks/alternating.js'
import './blocks/joint.js'
import './model/mixture.js'
import '../plugins/heads.js'
import '../plugins/norm.js'
import '../plugins/token-image.js'
import '../plugins/cnn.js'
import '../plugins/vit.js'
import '../plugins/perceiver.js'
import '../plugins/resnet.js'
import './data/official.js'
import './data/synthetic.js'
import './data/image-folder.js'
import './data/geometric-transforms.js'
import './data/transforms.js'
import './data/auto-augment.js'
import './data/timm-rand-augment.js'
import './recipe/pytorch-optimizers.js'
import './recipe/pytorch-schedules.js'
import './recipe/pytorch-losses.js'
