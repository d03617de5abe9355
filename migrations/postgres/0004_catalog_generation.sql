-- A counter that moves whenever the catalog (studies, datasets, columns) changes, by whatever
-- writes it: each node keeps the catalog in memory and reloads it when the counter moved.
CREATE TABLE catalog_generation (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalog_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION attest_catalog_changed() RETURNS trigger AS $$
BEGIN
    UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER studies_changed AFTER INSERT OR UPDATE OR DELETE ON studies
    FOR EACH STATEMENT EXECUTE FUNCTION attest_catalog_changed();
CREATE TRIGGER datasets_changed AFTER INSERT OR UPDATE OR DELETE ON datasets
    FOR EACH STATEMENT EXECUTE FUNCTION attest_catalog_changed();
CREATE TRIGGER dataset_columns_changed AFTER INSERT OR UPDATE OR DELETE ON dataset_columns
    FOR EACH STATEMENT EXECUTE FUNCTION attest_catalog_changed();
