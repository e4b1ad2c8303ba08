"""Named landmark indices of the MediaPipe 468-point face mesh.

Loops are ordered and closed (the last point connects back to the first); they follow
MediaPipe's FACEMESH_LIPS, FACEMESH_FACE_OVAL, FACEMESH_LEFT_EYE and FACEMESH_RIGHT_EYE
connection sets. "Right" and "left" are the subject's: in a normal (unmirrored) photo the
right eye is on the image's left.
"""

from __future__ import annotations

# --- lips -----------------------------------------------------------------------------
MOUTH_CORNERS = (61, 291)
"""Outer mouth corners: subject's right (image left), then left."""
INNER_MOUTH_CORNERS = (78, 308)
"""Corners of the inner lip contour."""

LIPS_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)

LIPS_OUTER = LIPS_LOWER_OUTER + LIPS_UPPER_OUTER[-2:0:-1]
"""Outer lip contour, closed loop of 20 points starting at the right corner (61)."""
LIPS_INNER = LIPS_LOWER_INNER + LIPS_UPPER_INNER[-2:0:-1]
"""Inner lip contour (the mouth opening), closed loop of 20 points starting at 78."""

UPPER_LIP_INNER_MID = 13
"""Midpoint of the upper lip's inner edge."""
LOWER_LIP_INNER_MID = 14
"""Midpoint of the lower lip's inner edge."""
INNER_LIP_PAIRS = ((81, 178), (82, 87), (13, 14), (312, 317), (311, 402))
"""Upper/lower inner-lip points facing each other across the mouth opening."""

# --- face outline ---------------------------------------------------------------------
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
"""Face outline, closed loop of 36 points starting at the forehead top (10), running
towards the subject's left (image right) first."""
JAW = (
    234,
    93,
    132,
    58,
    172,
    136,
    150,
    149,
    176,
    148,
    152,
    377,
    400,
    378,
    379,
    365,
    397,
    288,
    361,
    323,
    454,
)
"""Jaw and chin line, an open chain from the right cheek at ear level (234) through the
chin (152) to the left cheek (454)."""

FOREHEAD_TOP = 10
CHIN = 152
NOSE_TIP = 1

# --- eyes -----------------------------------------------------------------------------
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_INNER, LEFT_EYE_OUTER = 362, 263
EYE_CORNERS = (RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER)
EYE_LINE = (RIGHT_EYE_OUTER, LEFT_EYE_OUTER)
"""Outer eye corners whose line gives the face's roll (MediaPipe's ROI rotation)."""

RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)

RIGHT_EYE = RIGHT_EYE_LOWER + RIGHT_EYE_UPPER[-2:0:-1]
"""Right eye contour, closed loop of 16 points starting at the outer corner (33)."""
LEFT_EYE = LEFT_EYE_LOWER + LEFT_EYE_UPPER[-2:0:-1]
"""Left eye contour, closed loop of 16 points starting at the outer corner (263)."""

RIGHT_EYE_LID_PAIRS = ((160, 144), (159, 145), (158, 153))
"""Upper/lower lid points of the right eye facing each other."""
LEFT_EYE_LID_PAIRS = ((387, 373), (386, 374), (385, 380))
"""Upper/lower lid points of the left eye facing each other."""


def loop_edges(loop: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Edges of a closed loop, the last point joined back to the first."""
    return tuple(zip(loop, loop[1:] + loop[:1]))


def chain_edges(chain: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Edges of an open chain."""
    return tuple(zip(chain, chain[1:]))
