"""Models users bring, built offline with random weights: keras.applications architectures, a
small vision transformer, and the special cases (two inputs, a dict output, channels first,
grayscale, uint8, a Rescaling layer and a softmax).

Each architecture comes with a mid layer to visualise besides its output.
"""

from __future__ import annotations

# name -> (keras.applications builder, a mid layer, input side)
APPLICATIONS = {
    "ResNet50": ("ResNet50", "conv3_block4_out", 224),
    "MobileNetV3Small": ("MobileNetV3Small", "expanded_conv_5_add", 224),
    "DenseNet121": ("DenseNet121", "pool3_conv", 224),
    "InceptionV3": ("InceptionV3", "mixed4", 299),
    "Xception": ("Xception", "block8_sepconv3_bn", 299),
    "EfficientNetB0": ("EfficientNetB0", "block4a_expand_activation", 224),
    "EfficientNetV2B0": ("EfficientNetV2B0", "block4a_expand_activation", 224),
    "ConvNeXtTiny": ("ConvNeXtTiny", "convnext_tiny_stage_2_block_2_identity", 224),
    "NASNetMobile": ("NASNetMobile", "normal_concat_8", 224),
    "VGG16": ("VGG16", "block4_conv3", 224),
}
VIT_MID = "block1_add1"


def application(name: str, classes: int = 10):
    """The keras.applications architecture ``name`` with random weights and ``classes``
    outputs (its own input size)."""
    import keras

    keras.utils.set_random_seed(0)
    builder, _, _ = APPLICATIONS[name]
    return getattr(keras.applications, builder)(weights=None, classes=classes)


def small_vit(size: int = 64, patch: int = 8, dim: int = 32, depth: int = 2, classes: int = 10):
    """A small vision transformer: a patch convolution, a fixed Reshape to tokens, attention
    blocks on [batch, tokens, dim], a pooled softmax head; runs at ``size`` only."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1, name="scale")(inputs)
    x = layers.Conv2D(dim, patch, strides=patch, name="patches")(x)
    x = layers.Reshape(((size // patch) ** 2, dim), name="tokens")(x)
    for i in range(depth):
        y = layers.LayerNormalization(name=f"block{i}_norm1")(x)
        y = layers.MultiHeadAttention(4, dim // 4, name=f"block{i}_attention")(y, y)
        x = layers.Add(name=f"block{i}_add1")([x, y])
        y = layers.LayerNormalization(name=f"block{i}_norm2")(x)
        y = layers.Dense(dim * 2, activation="gelu", name=f"block{i}_mlp1")(y)
        y = layers.Dense(dim, name=f"block{i}_mlp2")(y)
        x = layers.Add(name=f"block{i}_add2")([x, y])
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = layers.Dense(classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="small_vit")


def special_case(name: str, size: int = 32):
    """A small model of one special kind (see :data:`SPECIAL_CASES`)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)

    def body(x):
        x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv")(x)
        return layers.GlobalAveragePooling2D(name="pool")(x)

    if name == "two inputs":
        a, b = keras.Input((size, size, 3)), keras.Input((size, size, 3))
        return keras.Model([a, b], layers.Dense(4, name="logits")(body(layers.Add()([a, b]))))
    if name == "dict output":
        image = keras.Input((size, size, 3))
        x = body(image)
        outputs = {"kind": layers.Dense(4, name="kind")(x), "age": layers.Dense(1, name="age")(x)}
        return keras.Model(image, outputs)
    if name == "channels first":
        image = keras.Input((3, size, size))
        return keras.Model(image, layers.Dense(4)(layers.Flatten()(image)))
    if name == "grayscale":
        image = keras.Input((size, size, 1))
        return keras.Model(image, layers.Dense(4)(body(image)))
    if name == "uint8":
        image = keras.Input((size, size, 3), dtype="uint8")
        x = layers.Rescaling(1 / 255, name="scale")(image)
        return keras.Model(image, layers.Dense(4, name="logits")(body(x)))
    if name == "rescaling and softmax":
        image = keras.Input((size, size, 3))
        x = layers.Rescaling(1 / 255, name="scale")(image)
        x = layers.Dense(4, name="logits")(body(x))
        return keras.Model(image, layers.Softmax(name="probs")(x))
    raise KeyError(name)


# name -> what the one-line error says, or None where the model runs.
SPECIAL_CASES = {
    "two inputs": "has 2 inputs; give a one-image model",
    "dict output": None,
    "channels first": "channels first",
    "grayscale": "takes input of shape (None, 32, 32, 1)",
    "uint8": "uint8 images, and no gradient flows through an integer input",
    "rescaling and softmax": None,
}
