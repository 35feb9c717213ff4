DROP TABLE desk_days;
