-- Run once by the PostgreSQL container on its first start (deploy/compose.yaml): Orthanc keeps its index in a
-- database of its own beside Kamikarte's.
CREATE DATABASE orthanc OWNER kamikarte;
