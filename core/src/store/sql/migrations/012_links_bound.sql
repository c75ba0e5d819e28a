-- Version 12: each sealed row's associated data binds the rows it links to as well as its own
-- table and id: an identity document and a registration their person, a permit its holder and
-- version, an alert its person. The tables keep their shape; the rows are sealed again by the
-- store at open, where the key is at hand (`schema::bind_links`).
SELECT 1;
