"""Small synthetic DICOM studies made with pydicom, for the demo PACS and the tests (no real patient images).

Images are tiny (64×64 or 128×128) so that a test run stays fast. Names are written in ISO 2022 IR 87 with
the alphabetic, ideographic and phonetic components, as Japanese modalities send them.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass, field
from datetime import date

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from app.core.jp import is_jis_encodable, normalize_variants

SOP_CLASSES = {
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "CT": CTImageStorage,
    "US": "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image Storage
    "OT": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
}


@dataclass
class PatientNames:
    """A patient's name in the three components of a Japanese PN: romaji, kanji, kana."""

    alphabetic: str
    ideographic: str
    phonetic: str

    def pn(self) -> str:
        """The PN value: alphabetic=ideographic=phonetic (family^given in each), in characters ISO 2022 IR 87
        can carry: a 異体字 outside JIS X 0208 (髙, 﨑 …) is written in its everyday form, as a modality's
        operator would type it; a character with no such form is a ValueError, never a silent '?'."""
        return f"{self.alphabetic}={jis_x0208(self.ideographic)}={jis_x0208(self.phonetic)}"


def jis_x0208(text: str) -> str:
    """Text ISO 2022 IR 87 can encode: characters outside JIS X 0208 folded to their everyday 異体字."""
    out = []
    for char in text:
        if not is_jis_encodable(char):
            char = normalize_variants(char)
            if not is_jis_encodable(char):
                raise ValueError(f"「{char}」は ISO 2022 IR 87（JIS X 0208）で表せない文字です")
        out.append(char)
    return "".join(out)


@dataclass
class SeriesSpec:
    """One series to generate: modality, description, images, frames per image, size."""

    modality: str
    description: str
    images: int = 1
    frames: int = 1
    size: int = 64
    body_part: str = ""
    series_uid: str = field(default_factory=generate_uid)
    #: Draw a crude body phantom (chest CT in Hounsfield units, chest radiograph, ultrasound sector) instead of
    #: the test pattern: the demo's windows then show what they are for (肺野 opens the lungs, 骨 the spine).
    phantom: bool = False


def _pixels(size: int, seed: int, frame: int, modality: str) -> tuple[bytes, int]:
    """16-bit pixels: a gradient with a bright disc whose place moves with seed/frame (so images differ)."""
    values = []
    cx = size / 2 + (seed * 5 + frame * 3) % (size // 3) - size / 6
    cy = size / 2
    radius = size / 4
    top = 3000 if modality == "CT" else 4000
    for y in range(size):
        for x in range(size):
            v = int(top * 0.6 * x / size)
            if math.hypot(x - cx, y - cy) < radius:
                v = int(top * (0.75 + 0.25 * y / size))
            values.append(v)
    return struct.pack(f"<{len(values)}H", *values), top


def _inside(x: float, y: float, cx: float, cy: float, rx: float, ry: float) -> bool:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def _phantom(size: int, slice_index: int, frame: int, modality: str) -> tuple[bytes, int]:
    """16-bit pixels of a crude phantom. CT: stored value = HU + 1024 (rescale intercept -1024)."""
    values = []
    s = size
    for yi in range(s):
        for xi in range(s):
            x, y = xi / s, yi / s
            if modality == "CT":
                hu = -1000  # air
                if _inside(x, y, .5, .52, .44, .34):
                    hu = 40  # soft tissue
                    if _inside(x, y, .30, .48, .15, .23) or _inside(x, y, .70, .48, .15, .23):
                        hu = -850  # lungs
                        # A small nodule in the right lung (the image's left) on the middle slices.
                        if slice_index in (3, 4) and _inside(x, y, .27, .55, .035, .035):
                            hu = 30
                    if _inside(x, y, .5, .78, .07, .06):
                        hu = 700  # vertebral body
                    if _inside(x, y, .53, .42, .11, .10):
                        hu = 45 if hu != 700 else hu  # heart
                values.append(max(0, hu + 1024))
            elif modality == "US":
                # A sector with speckle; a dark round structure (gallbladder) that moves with the frame.
                angle = math.atan2(x - .5, y + .05)
                radius = math.hypot(x - .5, y + .05)
                v = 0
                if abs(angle) < .7 and .15 < radius < 1.0:
                    v = 700 + ((xi * 73856093) ^ (yi * 19349663) ^ (frame * 83492791)) % 1400
                    if _inside(x, y, .45 + .02 * frame, .55, .12, .09):
                        v = 150
                values.append(v)
            else:
                v = 300  # background
                if _inside(x, y, .5, .55, .42, .45):
                    v = 2600  # soft tissue
                    if _inside(x, y, .32, .48, .14, .30) or _inside(x, y, .68, .48, .14, .30):
                        v = 900  # lungs
                    if abs(x - .5) < .035:
                        v = 3400  # spine
                    if _inside(x, y, .56, .62, .13, .11):
                        v = 3000  # heart shadow
                values.append(v)
    top = 3000 if modality == "CT" else 4000
    return struct.pack(f"<{len(values)}H", *values), top


def make_instance(*, patient_id: str, names: PatientNames, birth_date: date | None, sex: str, study_uid: str,
                  study_date: date, study_description: str, accession: str, series: SeriesSpec, series_number: int,
                  instance_number: int, sop_uid: str | None = None) -> bytes:
    """One DICOM Part 10 file as bytes."""
    sop_class = SOP_CLASSES.get(series.modality, SOP_CLASSES["OT"])
    sop_uid = sop_uid or generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.PatientID = patient_id
    ds.PatientName = names.pn()
    ds.PatientBirthDate = birth_date.strftime("%Y%m%d") if birth_date else ""
    ds.PatientSex = {"M": "M", "F": "F"}.get(sex, "O")
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = study_date.strftime("%Y%m%d")
    ds.StudyTime = "093000"
    ds.StudyDescription = study_description
    ds.AccessionNumber = accession
    ds.StudyID = accession[-8:]
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = series.series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series.description
    ds.Modality = series.modality
    ds.BodyPartExamined = series.body_part
    ds.InstanceNumber = instance_number
    ds.InstitutionName = "KAMIKARTE DEMO"
    ds.Rows = ds.Columns = series.size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [0.7, 0.7]
    frames = []
    top = 4000
    for frame in range(series.frames):
        if series.phantom:
            data, top = _phantom(series.size, instance_number, frame, series.modality)
        else:
            data, top = _pixels(series.size, instance_number, frame, series.modality)
        frames.append(data)
    if series.frames > 1:
        ds.NumberOfFrames = series.frames
        ds.FrameIncrementPointer = 0x00181063
        ds.FrameTime = 40.0
    if series.modality == "CT":
        # Stored values map to Hounsfield units through the rescale; the default window is the 縦隔 window.
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
        ds.SliceThickness = 5.0
        ds.ImagePositionPatient = [0, 0, -5.0 * instance_number]
        ds.WindowCenter = 40
        ds.WindowWidth = 400
    else:
        ds.WindowCenter = top // 2
        ds.WindowWidth = top
    ds.PixelData = b"".join(frames)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _uid(seed: str | None, *parts: object) -> str:
    """A fresh UID, or with a seed the same UID every time (the demo re-seeds its PACS at each start and its
    key image must still point at the same image)."""
    return generate_uid(entropy_srcs=[seed, *map(str, parts)]) if seed else generate_uid()


def make_study(*, patient_id: str, names: PatientNames, birth_date: date | None, sex: str, study_date: date,
               description: str, accession: str, series: list[SeriesSpec], study_uid: str | None = None,
               uid_seed: str | None = None) -> tuple[str, list[bytes]]:
    """A whole study: its StudyInstanceUID and the DICOM files of every image of every series."""
    study_uid = study_uid or _uid(uid_seed, "study")
    files = []
    for number, spec in enumerate(series, start=1):
        if uid_seed:
            spec.series_uid = _uid(uid_seed, "series", number)
        for index in range(1, spec.images + 1):
            files.append(make_instance(patient_id=patient_id, names=names, birth_date=birth_date, sex=sex,
                                       study_uid=study_uid, study_date=study_date, study_description=description,
                                       accession=accession, series=spec, series_number=number,
                                       instance_number=index, sop_uid=_uid(uid_seed, "image", number, index)
                                       if uid_seed else None))
    return study_uid, files
