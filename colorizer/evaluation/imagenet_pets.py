"""Oxford-IIIT Pet breeds and the ImageNet-1k classes they correspond to.

ImageNet's 1000 classes (the order of ``keras.applications`` classifiers, 0-based) include
118 dog breeds (indices 151-268) and five domestic cats (281-285). Only some of the 37 Pet
breeds have a class of their own; the rest (e.g. Bengal, Havanese, Shiba Inu) can only be
judged at the coarser cat-vs-dog level.

Example:
    >>> imagenet_class("Persian"), imagenet_class("basset hound"), imagenet_class("Bengal")
    (283, 161, None)
    >>> species_of_class(162), species_of_class(284), species_of_class(0)
    ('dog', 'cat', '')
"""
from __future__ import annotations

DOG_CLASSES = range(151, 269)
"""ImageNet indices of dog breeds (Chihuahua ... Mexican hairless)."""
CAT_CLASSES = range(281, 286)
"""ImageNet indices of domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian cat)."""

CAT_BREEDS = (
    "abyssinian", "bengal", "birman", "bombay", "british_shorthair", "egyptian_mau",
    "maine_coon", "persian", "ragdoll", "russian_blue", "siamese", "sphynx",
)
DOG_BREEDS = (
    "american_bulldog", "american_pit_bull_terrier", "basset_hound", "beagle", "boxer",
    "chihuahua", "english_cocker_spaniel", "english_setter", "german_shorthaired",
    "great_pyrenees", "havanese", "japanese_chin", "keeshond", "leonberger",
    "miniature_pinscher", "newfoundland", "pomeranian", "pug", "saint_bernard", "samoyed",
    "scottish_terrier", "shiba_inu", "staffordshire_bull_terrier", "wheaten_terrier",
    "yorkshire_terrier",
)
"""The 37 Pet breeds in their normalised spelling (lower case, underscores)."""

BREED_TO_IMAGENET = {
    # cats
    "egyptian_mau": 285,  # Egyptian cat
    "persian": 283,  # Persian cat
    "siamese": 284,  # Siamese cat
    # dogs
    "basset_hound": 161,  # basset
    "beagle": 162,
    "boxer": 242,
    "chihuahua": 151,
    "english_cocker_spaniel": 219,  # cocker spaniel (English cocker spaniel)
    "english_setter": 212,
    "german_shorthaired": 210,  # German short-haired pointer
    "great_pyrenees": 257,
    "japanese_chin": 152,  # Japanese spaniel
    "keeshond": 261,
    "leonberger": 255,  # Leonberg
    "miniature_pinscher": 237,
    "newfoundland": 256,
    "pomeranian": 259,
    "pug": 254,
    "saint_bernard": 247,
    "samoyed": 258,
    "scottish_terrier": 199,  # Scotch terrier
    "staffordshire_bull_terrier": 179,  # Staffordshire bullterrier
    "wheaten_terrier": 202,  # soft-coated wheaten terrier
    "yorkshire_terrier": 187,
}
"""Pet breed -> ImageNet class index, for the breeds ImageNet has a class for."""


def normalize_breed(name: str) -> str:
    """``"British Shorthair"``, ``"british-shorthair"`` -> ``"british_shorthair"``."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def imagenet_class(breed: str) -> int | None:
    """The ImageNet index of a Pet breed, or ``None`` when ImageNet has no class for it."""
    return BREED_TO_IMAGENET.get(normalize_breed(breed))


def breed_species(breed: str) -> str:
    """``"cat"``, ``"dog"``, or ``""`` for a name that is not a Pet breed."""
    key = normalize_breed(breed)
    return "cat" if key in CAT_BREEDS else "dog" if key in DOG_BREEDS else ""


def species_of_class(index: int) -> str:
    """``"dog"`` or ``"cat"`` for an ImageNet index in those ranges, else ``""``."""
    return "dog" if index in DOG_CLASSES else "cat" if index in CAT_CLASSES else ""


def breed_from_filename(name: str) -> str:
    """The breed an Oxford-IIIT Pet file name carries (``"Bengal_12.jpg"`` -> ``"bengal"``),
    or ``""`` when the name does not start with a known breed."""
    import os

    stem = os.path.splitext(os.path.basename(name))[0]
    breed, _, number = normalize_breed(stem).rpartition("_")
    known = breed in CAT_BREEDS or breed in DOG_BREEDS
    return breed if known and number.isdigit() else ""
