"""Calibration studies: many fits of one model on Dask, judged by SBC ranks or interval coverage.

:mod:`.compiled` builds the fit stage's model once per worker process and refits it by swapping
its data; :mod:`.sbc` (simulation-based calibration of the model on one design) and
:mod:`.simulated` (coverage against the simulator's datasets) plan a study's fits; :mod:`.cluster`
starts the Dask cluster, :mod:`.runner` fans the fits out and :mod:`.store` keeps one record per
fit; :mod:`.ranks` and :mod:`.coverage` judge the records, :mod:`.summary` tabulates them and
:mod:`.report` writes the study's page. Importing the package imports none of them (nor pytensor):
a worker sets its compile folder (:func:`.compiledir.worker_compiledir`) before pytensor is imported.
"""
