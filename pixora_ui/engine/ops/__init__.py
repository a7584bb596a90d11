"""Image operations the tools are built from: decode and encode, cut-out edges (matting, trimap),
magic erase and canvas expansion, retouch, saliency and the style filters."""
