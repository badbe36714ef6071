/** Registers the datasets and transforms that ship with the project (one module each; adding one is one line here). */
import './official.js'
import './synthetic.js'
import './image-folder.js'
import './transforms.js'
