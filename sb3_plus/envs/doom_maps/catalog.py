"""Doom numbers as data: thing types, key colours, locks and the line specials of doors, exits and teleporters.

Thing names are the engine's class names, the names ViZDoom reports for objects
(``state.objects``), so a goal named ``GreenArmor`` here is ``GreenArmor`` in
:meth:`sb3_plus.envs.vizdoom_geometry.MapGeometry.find_object`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Thing name -> editor number (doomednum) for the things a map description may place.
THING_TYPES: dict[str, int] = {
    "Player1Start": 1, "TeleportDest": 14,
    "BlueCard": 5, "YellowCard": 6, "RedCard": 13, "RedSkull": 38, "YellowSkull": 39, "BlueSkull": 40,
    "Zombieman": 3004, "ZombieMan": 3004, "ShotgunGuy": 9, "ChaingunGuy": 65, "DoomImp": 3001, "Demon": 3002,
    "Spectre": 58, "Cacodemon": 3005, "LostSoul": 3006,
    "Stimpack": 2011, "Medikit": 2012, "HealthBonus": 2014, "ArmorBonus": 2015, "GreenArmor": 2018,
    "BlueArmor": 2019, "Soulsphere": 2013, "RadSuit": 2025,
    "Clip": 2007, "ClipBox": 2048, "Shell": 2008, "ShellBox": 2049, "RocketAmmo": 2010,
    "Shotgun": 2001, "Chaingun": 2002, "RocketLauncher": 2003, "Chainsaw": 2005,
    "ExplosiveBarrel": 2035, "TechLamp": 85, "Column": 2028,
}
THING_NAMES: dict[int, str] = {}
for _name, _number in THING_TYPES.items():
    THING_NAMES.setdefault(_number, _name)  # the first name is the one ViZDoom reports (``Zombieman``)

KEY_COLOURS = ("red", "blue", "yellow")
#: Key thing type -> colour (cards and skulls open the same doors here).
KEY_THINGS: dict[int, str] = {13: "red", 38: "red", 5: "blue", 40: "blue", 6: "yellow", 39: "yellow"}
#: Colour -> the key card a map description places by default.
KEY_CARDS: dict[str, str] = {"red": "RedCard", "blue": "BlueCard", "yellow": "YellowCard"}
#: Colour -> lock number that any key of that colour opens (ZDoom lock numbers).
LOCK_FOR_COLOUR: dict[str, int] = {"red": 129, "blue": 130, "yellow": 131}
#: ZDoom lock number -> colour (card, skull, either).
LOCK_COLOURS: dict[int, str] = {1: "red", 4: "red", 129: "red", 2: "blue", 5: "blue", 130: "blue",
                                3: "yellow", 6: "yellow", 131: "yellow"}
#: Door face textures by key colour (None: an ordinary door).
DOOR_TEXTURES: dict[str | None, str] = {None: "BIGDOOR2", "red": "DOORRED", "blue": "DOORBLU", "yellow": "DOORYEL"}

# UDMF / Hexen-format line specials (ZDoom numbering) written and read here.
DOOR_CLOSE, DOOR_OPEN, DOOR_RAISE, DOOR_LOCKED_RAISE, DOOR_ANIMATED, GENERIC_DOOR = 10, 11, 12, 13, 14, 202
EXIT_NORMAL, EXIT_SECRET, TELEPORT_NEWMAP, TELEPORT_ENDGAME = 243, 244, 74, 75
TELEPORT, TELEPORT_NOFOG, TELEPORT_LINE = 70, 71, 215
#: Special -> index of its lock argument (doors only).
LOCK_ARGUMENT = {DOOR_LOCKED_RAISE: 3, DOOR_ANIMATED: 3, GENERIC_DOOR: 4}
HEXEN_DOORS = {DOOR_CLOSE, DOOR_OPEN, DOOR_RAISE, DOOR_LOCKED_RAISE, DOOR_ANIMATED, GENERIC_DOOR, 249}
HEXEN_EXITS = {EXIT_NORMAL: False, EXIT_SECRET: True, TELEPORT_NEWMAP: False, TELEPORT_ENDGAME: False}
HEXEN_TELEPORTS = {TELEPORT, TELEPORT_NOFOG, TELEPORT_LINE, 76, 77, 78}


@dataclass(frozen=True)
class DoomSpecial:
    """What a vanilla (Doom-format) line special does.

    :param kind: ``door``, ``exit`` or ``teleport``.
    :param trigger: ``use`` (a door opened where it stands), ``switch`` (USE on this line acts
        on tagged sectors), ``walk`` (crossing the line) or ``shoot``.
    :param repeat: can be triggered again.
    :param key: colour of the key it needs, or ``None``.
    :param action: what it does (``open``, ``raise``, ``close``, ``exit``, ``secret exit``, ...).
    """

    kind: str
    trigger: str
    repeat: bool
    key: str | None = None
    action: str = ""


def _table() -> dict[int, DoomSpecial]:
    prefix = {"D": "use", "S": "switch", "W": "walk", "G": "shoot"}
    rows = {
        # doors: number -> (trigger and repeat, action, key)
        1: ("DR", "raise", None), 2: ("W1", "open", None), 3: ("W1", "close", None), 4: ("W1", "raise", None),
        16: ("W1", "close30", None), 26: ("DR", "raise", "blue"), 27: ("DR", "raise", "yellow"),
        28: ("DR", "raise", "red"), 29: ("S1", "raise", None), 31: ("D1", "open", None), 32: ("D1", "open", "blue"),
        33: ("D1", "open", "red"), 34: ("D1", "open", "yellow"), 42: ("SR", "close", None), 46: ("GR", "open", None),
        50: ("S1", "close", None), 61: ("SR", "open", None), 63: ("SR", "raise", None), 75: ("WR", "close", None),
        76: ("WR", "close30", None), 86: ("WR", "open", None), 90: ("WR", "raise", None),
        99: ("SR", "open", "blue"), 103: ("S1", "open", None), 105: ("WR", "raise", None), 106: ("WR", "open", None),
        107: ("WR", "close", None), 108: ("W1", "raise", None), 109: ("W1", "open", None), 110: ("W1", "close", None),
        111: ("S1", "raise", None), 112: ("S1", "open", None), 113: ("S1", "close", None), 114: ("SR", "raise", None),
        115: ("SR", "open", None), 116: ("SR", "close", None), 117: ("DR", "raise", None), 118: ("D1", "open", None),
        133: ("S1", "open", "blue"), 134: ("SR", "open", "red"), 135: ("S1", "open", "red"),
        136: ("SR", "open", "yellow"), 137: ("S1", "open", "yellow"), 175: ("S1", "close30", None),
        196: ("SR", "close30", None),
    }
    table = {n: DoomSpecial("door", prefix[code[0]], code[1] == "R", key, action)
             for n, (code, action, key) in rows.items()}
    exits = {11: ("S1", "exit"), 51: ("S1", "secret exit"), 52: ("W1", "exit"), 124: ("W1", "secret exit"),
             197: ("G1", "exit"), 198: ("G1", "secret exit")}
    table.update({n: DoomSpecial("exit", prefix[code[0]], False, None, action) for n, (code, action) in exits.items()})
    teleports = {39: "W1", 97: "WR", 125: "W1", 126: "WR", 174: "S1", 195: "SR", 207: "W1", 208: "WR",
                 209: "S1", 210: "SR", 268: "W1", 269: "WR"}
    table.update({n: DoomSpecial("teleport", prefix[code[0]], code[1] == "R", None, "teleport")
                  for n, code in teleports.items()})
    return table


#: Vanilla and Boom line specials of doors, exits and teleporters.
DOOM_SPECIALS: dict[int, DoomSpecial] = _table()
