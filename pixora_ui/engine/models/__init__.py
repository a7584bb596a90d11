"""The engine's networks and what runs them: ISNet (cut-out), Real-ESRGAN (upscale), CenterFace
(faces), the catalogue of weights and their installer, onnxruntime sessions and the warm-up."""
