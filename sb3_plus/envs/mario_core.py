"""The Super Mario Bros emulator under numpy 2: RAM decoding, and whole-machine state snapshots.

``gym-super-mario-bros`` 7.4 and ``nes-py`` 8.2 were written for numpy 1. Under numpy 2 (NEP 50)
arithmetic on a ``uint8`` RAM byte stays ``uint8``: ``ram[0x6d] * 0x100`` raises an
``OverflowError`` and ``255 + (255 - y)`` wraps silently; the ROM reader's header sizes overflow
the same way. Here the ROM header is read as ``int64`` (patched once, on import) and
:class:`MarioCore` reads every RAM value as a Python ``int``; :func:`decode_pose` is the one
place that turns RAM bytes into the pose. The gym layer of both packages is not used.

nes-py keeps one private backup of the machine (used by every reset). :class:`NesState` copies
the whole machine (CPU registers, RAM, PPU registers, video RAM, palette, sprite memory, the
screen and the controllers) in and out of the emulator's memory, so any number of states can be
kept. It locates each part from the addresses nes-py exposes and checks the layout when it is
built, so a different nes-py build fails loudly instead of restoring garbage.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import sys
import zlib
from typing import Any

import numpy as np

from sb3_plus.errors import UserError

__all__ = ["MarioCore", "NesState", "decode_pose", "POSE_FIELDS", "HARMFUL_ENEMIES", "NesLayoutError"]

#: The keys of ``info["pose"]``, in order (datasets store the pose as a vector in this order).
POSE_FIELDS = ("x", "y", "heading", "world", "stage", "area", "status", "time", "x_speed", "airborne",
               "player_state", "enemy_dx", "enemy_dy", "gap_dx", "headroom")
#: Enemy type ids that hurt on contact (SMB's object ids: koopas, goombas, plants, bullets, ...).
HARMFUL_ENEMIES = frozenset({0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
                             0x0F, 0x10, 0x11, 0x12, 0x14, 0x15, 0x33})
#: ``enemy_dx`` / ``enemy_dy`` when no harmful enemy is near, ``gap_dx`` when no gap is near.
NO_ENEMY = 999.0
_GAP_LOOKAHEAD = 4  # columns of 16 pixels
_MAX_HEADROOM = 64.0
_STAGE_OVER_ENEMIES = (0x2D, 0x31)  # Bowser, the flag on the flagpole


def _digits(ram: np.ndarray, address: int, length: int) -> int:
    value = 0
    for byte in ram[address:address + length]:
        value = value * 10 + int(byte)
    return value


def decode_pose(ram: np.ndarray) -> dict[str, float]:
    """The pose from the 2 KiB of NES RAM (every byte read as a Python int).

    ``x`` is the absolute level position in pixels (page ``0x6d`` * 256 + ``0x86``); ``y`` grows
    upwards, 255 - the screen row (``0x3b8``), and above the screen (viewport ``0xb5`` 0) it goes
    on above 255; ``heading`` 0 faces right, 180 left; ``status`` 0 small, 1 tall, 2 fire;
    ``time`` the clock; ``airborne`` 0 on the ground, 1 jumping, 2 falling, 3 on the flagpole;
    ``enemy_dx`` / ``enemy_dy`` the nearest harmful enemy ahead (-16 to 256 pixels), else 999;
    ``gap_dx`` the distance to the next column ahead (up to 4 blocks) with no tile from Mario's feet
    down (a pit, the edge of a platform; from the block buffer at ``0x500``), else 999;
    ``headroom`` the free pixels above Mario's head in his column and the next two (at most 64), on
    the ground (else 64).
    """
    r = ram if isinstance(ram, list) else np.asarray(ram)[:0x800].astype(np.int64).tolist()
    x = r[0x6D] * 256 + r[0x86]
    y_pixel, viewport = r[0x3B8], r[0xB5]
    y = 255 + (255 - y_pixel) if viewport < 1 else 255 - y_pixel
    speed = r[0x57] - 256 if r[0x57] >= 128 else r[0x57]
    enemy_dx, enemy_dy = NO_ENEMY, NO_ENEMY
    for i in range(5):
        if r[0x0F + i] == 0 or r[0x16 + i] not in HARMFUL_ENEMIES:
            continue
        dx = r[0x6E + i] * 256 + r[0x87 + i] - x
        if -16 <= dx <= 256 and dx < enemy_dx:
            enemy_dx, enemy_dy = float(dx), float(r[0xCE] - r[0xCF + i])  # + : the enemy is higher
    return {
        "x": float(x), "y": float(y), "heading": 180.0 if r[0x33] == 2 else 0.0,
        "world": float(r[0x75F] + 1), "stage": float(r[0x75C] + 1), "area": float(r[0x760] + 1),
        "status": float(min(r[0x756], 2)), "time": float(r[0x7F8] * 100 + r[0x7F9] * 10 + r[0x7FA]),
        "x_speed": float(speed), "airborne": float(r[0x1D]), "player_state": float(r[0x0E]),
        "enemy_dx": enemy_dx, "enemy_dy": enemy_dy, "gap_dx": _gap_ahead(r, x), "headroom": _headroom(r, x),
    }


def _gap_ahead(r: list[int], x: int) -> float:
    """Pixels to the next column ahead with no tile from the row under Mario's feet down, else 999."""
    feet = _feet_row(r)
    if feet is None:
        return NO_ENEMY
    for column in range(x // 16 + 1, x // 16 + 1 + _GAP_LOOKAHEAD):
        if all(_tile(r, column, row) == 0 for row in range(feet, 13)):
            return float(column * 16 - x)
    return NO_ENEMY


def _feet_row(r: list[int]) -> int | None:
    """The block-buffer row under Mario's feet when he stands on the screen, else ``None``."""
    if r[0x1D] != 0 or r[0xB5] != 1:  # in the air, or off the screen
        return None
    feet = (r[0xCE] + 32) // 16 - 2  # the game's own feet row: (y + 0x20) & 0xF0, minus the status bar
    return feet if 0 <= feet <= 12 else None


def _tile(r: list[int], column: int, row: int) -> int:
    return r[0x500 + ((column // 16) % 2) * 0xD0 + 16 * row + column % 16]


def _headroom(r: list[int], x: int) -> float:
    """Free pixels above Mario's head over his column and the next two (at most 64)."""
    feet = _feet_row(r)
    if feet is None:
        return _MAX_HEADROOM
    head = feet - (2 if r[0x756] == 0 else 3)  # the first row above a small (one row) or tall (two) Mario
    free = 0
    while free * 16 < _MAX_HEADROOM and head - free >= 0 and all(
            _tile(r, c, head - free) == 0 for c in range(x // 16, x // 16 + 3)):
        free += 1
    return float(min(free * 16, _MAX_HEADROOM))


def _patch_rom_header() -> None:
    """Make nes-py's ROM reader compute sizes in int64 (its uint8 header overflows under numpy 2)."""
    if "gym" not in sys.modules:
        # nes-py imports the old gym, which prints a notice about itself; its API is not used here
        with contextlib.redirect_stderr(io.StringIO()):
            import gym  # noqa: F401
    from nes_py import _rom

    if getattr(_rom.ROM, "_sb3plus_int_header", False):
        return
    _rom.ROM.header = property(lambda self: self.raw_data[:16].astype(np.int64), doc="The 16-byte iNES header.")
    _rom.ROM._sb3plus_int_header = True


def _core_class() -> type:
    _patch_rom_header()
    from gym_super_mario_bros.smb_env import SuperMarioBrosEnv

    class _MarioCore(SuperMarioBrosEnv):
        """gym-super-mario-bros' emulator with every RAM read an int (NEP 50 safe)."""

        def _byte(self, address: int) -> int:
            return int(self.ram[address])

        def _read_mem_range(self, address: int, length: int) -> int:
            return _digits(self.ram, address, length)

        _level = property(lambda self: self._byte(0x75F) * 4 + self._byte(0x75C))
        _world = property(lambda self: self._byte(0x75F) + 1)
        _stage = property(lambda self: self._byte(0x75C) + 1)
        _area = property(lambda self: self._byte(0x760) + 1)
        _life = property(lambda self: self._byte(0x75A))
        _x_position = property(lambda self: self._byte(0x6D) * 0x100 + self._byte(0x86))
        _left_x_position = property(lambda self: (self._byte(0x86) - self._byte(0x71C)) % 256)
        _y_pixel = property(lambda self: self._byte(0x3B8))
        _y_viewport = property(lambda self: self._byte(0xB5))
        _y_position = property(lambda self: 510 - self._y_pixel if self._y_viewport < 1 else 255 - self._y_pixel)
        _player_state = property(lambda self: self._byte(0x0E))
        _player_status = property(lambda self: ("small", "tall", "fireball")[min(self._byte(0x756), 2)])
        _is_world_over = property(lambda self: self._byte(0x770) == 2)

        @property
        def _is_stage_over(self) -> bool:
            for address in (0x16, 0x17, 0x18, 0x19, 0x1A):
                if self._byte(address) in _STAGE_OVER_ENEMIES:
                    return self._byte(0x1D) == 3
            return False

    return _MarioCore


_CORE_CLASS: type | None = None


def MarioCore(world: int, stage: int) -> Any:  # noqa: N802 - a class factory, used like a class
    """The emulator playing ``world``-``stage`` from its start (the start screen skipped, the start backed up).

    :param world: 1 to 8.
    :param stage: 1 to 4.
    """
    global _CORE_CLASS
    if _CORE_CLASS is None:
        _CORE_CLASS = _core_class()
    return _CORE_CLASS(target=(int(world), int(stage)))


class NesLayoutError(UserError, RuntimeError):
    """The installed nes-py lays out its emulator differently from the one state snapshots were written for."""


_U64 = ctypes.c_uint64
# Byte offsets in nes-py 8.2.1's Emulator, as g++ lays it out on 64-bit Linux (checked in NesState).
_BUS_SIZE, _PICTURE_BUS_SIZE, _CPU_SIZE = 168, 88, 16
_PPU_REGISTERS = (80, 124)  # from the first plain field of the PPU to its screen
_SCREEN_BYTES = 240 * 256 * 4


def _vector(header: int) -> tuple[int, int, int]:
    """``(data, size, capacity)`` of the ``std::vector`` whose header is at ``header``."""
    begin, end, cap = (_U64.from_address(header + 8 * i).value for i in range(3))
    return begin, end - begin, cap - begin


class NesState:
    """Copies the whole state of one nes-py emulator out of and back into its memory.

    A snapshot is a dict of uint8 arrays (the screen zlib-compressed: about 6 KB in all).
    Restoring it makes the emulator continue exactly as it did from the snapshot.

    :param core: a nes-py ``NESEnv`` (its ``_env`` is the emulator).
    :raises NesLayoutError: the emulator is not laid out as expected (another nes-py build).
    """

    def __init__(self, core: Any) -> None:
        from nes_py import nes_env

        lib, handle = nes_env._LIB, core._env
        self.ppu = int(lib.Screen(handle)) - _PPU_REGISTERS[1]
        self.cpu = self.ppu - _CPU_SIZE
        self.picture_bus = self.cpu - _PICTURE_BUS_SIZE
        self.bus = self.picture_bus - _BUS_SIZE
        self.controllers = int(lib.Controller(handle, 0)) - 1  # joypad_buttons is a controller's 2nd byte
        problems = []
        if _vector(self.bus)[:2] != (int(lib.Memory(handle)), 0x800):
            problems.append("CPU RAM")
        if int(lib.Controller(handle, 1)) != self.controllers + 4:
            problems.append("controllers")
        for name, header, size in (("video RAM", self.picture_bus, 0x800), ("palette", self.picture_bus + 56, 0x20),
                                   ("sprite memory", self.ppu + 32, 256)):
            if _vector(header)[1] != size:
                problems.append(name)
        _, lines, capacity = _vector(self.ppu + 56)
        if not (0 <= lines <= 8 <= capacity <= 4096):
            problems.append("scanline sprites")
        if problems:
            raise NesLayoutError(
                f"the installed nes-py's emulator is not laid out as sb3-plus expects ({', '.join(problems)} not "
                "found), so Mario states cannot be saved and restored. Fix: install nes-py==8.2.1 (built from "
                "source by pip on 64-bit Linux), the version these snapshots were written for")

    def _parts(self) -> list[tuple[str, int, int]]:
        """``(name, address, size)`` of every fixed-size part of the state."""
        ram, _, _ = _vector(self.bus)
        extended, extended_size, _ = _vector(self.bus + 24)
        vram, _, _ = _vector(self.picture_bus)
        palette, _, _ = _vector(self.picture_bus + 56)
        oam, _, _ = _vector(self.ppu + 32)
        lo, hi = _PPU_REGISTERS
        return [("cpu", self.cpu, _CPU_SIZE), ("ppu", self.ppu + lo, hi - lo), ("controllers", self.controllers, 6),
                ("ram", ram, 0x800), ("extended_ram", extended, extended_size), ("vram", vram, 0x800),
                ("palette", palette, 0x20), ("oam", oam, 256)]

    def snapshot(self) -> dict[str, np.ndarray]:
        """The machine's state now."""
        out = {name: np.frombuffer(ctypes.string_at(address, size), dtype=np.uint8).copy()
               for name, address, size in self._parts()}
        lines, count, _ = _vector(self.ppu + 56)
        out["line_sprites"] = np.frombuffer(ctypes.string_at(lines, count), dtype=np.uint8).copy()
        screen = zlib.compress(ctypes.string_at(self.ppu + _PPU_REGISTERS[1], _SCREEN_BYTES), 1)
        out["screen"] = np.frombuffer(screen, dtype=np.uint8).copy()
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Put a :meth:`snapshot` back into the machine.

        :raises ValueError: the snapshot does not fit this machine (another ROM or a damaged state).
        """
        parts = self._parts()
        for name, _, size in parts:
            if state[name].size != size:
                raise ValueError(f"Mario state part {name!r} has {state[name].size} bytes, this emulator's has {size}")
        screen = zlib.decompress(np.ascontiguousarray(state["screen"]).tobytes())
        lines, _, capacity = _vector(self.ppu + 56)
        count = int(state["line_sprites"].size)
        if len(screen) != _SCREEN_BYTES or count > min(8, capacity):
            raise ValueError("damaged Mario state: its screen or sprite line does not fit this emulator")
        for name, address, size in parts:
            if size:
                ctypes.memmove(address, np.ascontiguousarray(state[name]).tobytes(), size)
        ctypes.memmove(self.ppu + _PPU_REGISTERS[1], screen, _SCREEN_BYTES)
        if count:
            ctypes.memmove(lines, state["line_sprites"].tobytes(), count)
        _U64.from_address(self.ppu + 56 + 8).value = lines + count  # the vector's end: its size
