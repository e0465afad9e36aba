// What the demo trains and where its bundled model lives. The model is a
// torchvision ResNet-18 at a quarter of its width (16 channels in the stem
// instead of 64), pretrained by `npm run pretrain-demo` on the synthetic
// source domain; the file ships in assets/demo/.
import { fileURLToPath } from 'node:url';
import { resnet, type ResNet } from '../models/resnet.js';

export const DEMO_ARCH = 'resnet18';
export const DEMO_WIDTH = 16;
/** Side of the generated images, in pixels. */
export const DEMO_IMAGE_SIZE = 32;

/** The bundled pretrained weights (backbone and the source-domain head). */
export const DEMO_WEIGHTS = fileURLToPath(new URL('../../assets/demo/resnet18-w16-synthetic.safetensors', import.meta.url));
/** The pretraining log that made them, written beside them. */
export const DEMO_LOG = fileURLToPath(new URL('../../assets/demo/pretrain-log.md', import.meta.url));

/** The demo's network, freshly initialised (torchvision's initialisation). */
export function demoNetwork(numClasses: number): ResNet {
  return resnet(DEMO_ARCH, { width: DEMO_WIDTH, numClasses });
}
