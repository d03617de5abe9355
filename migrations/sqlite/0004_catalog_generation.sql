-- A counter that moves whenever the catalog (studies, datasets, columns) changes, by whatever
-- writes it: each node keeps the catalog in memory and reloads it when the counter moved.
CREATE TABLE catalog_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO catalog_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER studies_inserted AFTER INSERT ON studies BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER studies_updated AFTER UPDATE ON studies BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER studies_deleted AFTER DELETE ON studies BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER datasets_inserted AFTER INSERT ON datasets BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER datasets_updated AFTER UPDATE ON datasets BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER datasets_deleted AFTER DELETE ON datasets BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER dataset_columns_inserted AFTER INSERT ON dataset_columns BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER dataset_columns_updated AFTER UPDATE ON dataset_columns BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER dataset_columns_deleted AFTER DELETE ON dataset_columns BEGIN UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1; END;
