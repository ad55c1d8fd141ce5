// The translation unit that carries the precompiled SDK headers in-tree plugins share.
